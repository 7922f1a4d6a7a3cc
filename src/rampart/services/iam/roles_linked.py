"""Service-linked roles: roles an AWS service owns, created and deleted on its behalf.

A service-linked role lives at ``/aws-service-role/<service principal>/``,
is named the way AWS names it for that service (``AWSServiceRoleFor...``, a
custom suffix appended after ``_`` where the service allows one), trusts
only its service to call sts:AssumeRole, and carries the service's AWS
managed permissions policy when Rampart knows it. Only its description may be
edited (``roles.require_modifiable`` guards everything else).

Deletion happens at once; the deletion task is remembered as an entity of
kind ``slr-deletion-task`` (named by its id) so that
GetServiceLinkedRoleDeletionStatus can answer for it later.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, NamedTuple

from sqlalchemy import delete, insert

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.errors import InvalidInput, NoSuchEntity
from rampart.services.iam.managed import AWS_POLICY_PREFIX, aws_managed_policy
from rampart.services.iam.roles import (
    DEFAULT_MAX_SESSION_DURATION,
    profiles_of_role,
    require_role,
    role_output,
)
from rampart.services.iam.store import named
from rampart.storage.schema import iam_attachments, iam_inline_policies

DELETION_TASK = "slr-deletion-task"
SERVICE_ROLE_PATH = "/aws-service-role/"
ROLE_NAME_MAX = 64


class LinkedRole(NamedTuple):
    """How AWS names a service's linked role, its permissions policy, and whether a suffix is allowed."""

    name: str
    policy: str | None
    suffix: bool = False


# The role and policy names AWS uses for well-known services (each service's
# "Using service-linked roles" page). Services not listed get a name derived
# from their principal and no permissions policy.
KNOWN_SERVICES: dict[str, LinkedRole] = {
    "access-analyzer.amazonaws.com": LinkedRole("AccessAnalyzer", "AccessAnalyzerServiceRolePolicy"),
    "autoscaling.amazonaws.com": LinkedRole("AutoScaling", "AutoScalingServiceRolePolicy", True),
    "backup.amazonaws.com": LinkedRole("Backup", "AWSBackupServiceLinkedRolePolicyForBackup"),
    "batch.amazonaws.com": LinkedRole("Batch", "BatchServiceRolePolicy"),
    "cloud9.amazonaws.com": LinkedRole("AWSCloud9", "AWSCloud9ServiceRolePolicy"),
    "cloudtrail.amazonaws.com": LinkedRole("CloudTrail", "CloudTrailServiceRolePolicy"),
    "compute-optimizer.amazonaws.com": LinkedRole("ComputeOptimizer", "ComputeOptimizerServiceRolePolicy"),
    "config.amazonaws.com": LinkedRole("Config", "AWSConfigServiceRolePolicy"),
    "detective.amazonaws.com": LinkedRole("Detective", "AmazonDetectiveServiceLinkedRolePolicy"),
    "ecs.amazonaws.com": LinkedRole("ECS", "AmazonECSServiceRolePolicy"),
    "eks.amazonaws.com": LinkedRole("AmazonEKS", "AmazonEKSServiceRolePolicy"),
    "eks-fargate.amazonaws.com": LinkedRole("AmazonEKSForFargate", "AmazonEKSForFargateServiceRolePolicy"),
    "eks-nodegroup.amazonaws.com": LinkedRole("AmazonEKSNodegroup", "AWSServiceRoleForAmazonEKSNodegroup"),
    "elasticache.amazonaws.com": LinkedRole("ElastiCache", "ElastiCacheServiceRolePolicy"),
    "elasticbeanstalk.amazonaws.com": LinkedRole("ElasticBeanstalk", "AWSElasticBeanstalkServiceRolePolicy"),
    "elasticloadbalancing.amazonaws.com": LinkedRole(
        "ElasticLoadBalancing", "AWSElasticLoadBalancingServiceRolePolicy"
    ),
    "es.amazonaws.com": LinkedRole("AmazonElasticsearchService", "AmazonElasticsearchServiceRolePolicy"),
    "events.amazonaws.com": LinkedRole("CloudWatchEvents", "CloudWatchEventsServiceRolePolicy"),
    "fms.amazonaws.com": LinkedRole("FMS", "FMSServiceRolePolicy"),
    "guardduty.amazonaws.com": LinkedRole("AmazonGuardDuty", "AmazonGuardDutyServiceRolePolicy"),
    "inspector2.amazonaws.com": LinkedRole("AmazonInspector2", "AmazonInspector2ServiceRolePolicy"),
    "kafka.amazonaws.com": LinkedRole("Kafka", "KafkaServiceRolePolicy"),
    "macie.amazonaws.com": LinkedRole("AmazonMacie", "AmazonMacieServiceRolePolicy"),
    "opensearchservice.amazonaws.com": LinkedRole("AmazonOpenSearchService", "AmazonOpenSearchServiceRolePolicy"),
    "organizations.amazonaws.com": LinkedRole("Organizations", "AWSOrganizationsServiceTrustPolicy"),
    "rds.amazonaws.com": LinkedRole("RDS", "AmazonRDSServiceRolePolicy"),
    "redshift.amazonaws.com": LinkedRole("Redshift", "AmazonRedshiftServiceLinkedRolePolicy"),
    "replication.dynamodb.amazonaws.com": LinkedRole("DynamoDBReplication", "DynamoDBReplicationServiceRolePolicy"),
    "replicator.lambda.amazonaws.com": LinkedRole("LambdaReplicator", "AWSLambdaReplicator"),
    "resource-explorer-2.amazonaws.com": LinkedRole("ResourceExplorer", "AWSResourceExplorerServiceRolePolicy"),
    "securityhub.amazonaws.com": LinkedRole("SecurityHub", "AWSSecurityHubServiceRolePolicy"),
    "spot.amazonaws.com": LinkedRole("EC2Spot", "AWSEC2SpotServiceRolePolicy"),
    "spotfleet.amazonaws.com": LinkedRole("EC2SpotFleet", "AWSEC2SpotFleetServiceRolePolicy"),
    "ssm.amazonaws.com": LinkedRole("AmazonSSM", "AmazonSSMServiceRolePolicy"),
    "sso.amazonaws.com": LinkedRole("SSO", "AWSSSOServiceRolePolicy"),
    "support.amazonaws.com": LinkedRole("Support", "AWSSupportServiceRolePolicy"),
    "trustedadvisor.amazonaws.com": LinkedRole("TrustedAdvisor", "AWSTrustedAdvisorServiceRolePolicy"),
    "dynamodb.application-autoscaling.amazonaws.com": LinkedRole(
        "ApplicationAutoScaling_DynamoDBTable", "AWSApplicationAutoscalingDynamoDBTablePolicy"
    ),
    "ecs.application-autoscaling.amazonaws.com": LinkedRole(
        "ApplicationAutoScaling_ECSService", "AWSApplicationAutoscalingECSServicePolicy"
    ),
    "custom-resource.application-autoscaling.amazonaws.com": LinkedRole(
        "ApplicationAutoScaling_CustomResource", "AWSApplicationAutoScalingCustomResourcePolicy", True
    ),
}

_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*\.amazonaws\.com$")
_TASK_ID = re.compile(r"^task/aws-service-role/(?P<service>[^/]+)/(?P<role>[\w+=,.@-]+)/(?P<uuid>[0-9a-f-]{36})$")


def linked_role(service: str) -> LinkedRole:
    """How the service's linked role is named; unknown services get a name from their principal.

    ``example-thing.amazonaws.com`` becomes ``ExampleThing``, the way AWS
    spells most of its own.
    """
    if service in KNOWN_SERVICES:
        return KNOWN_SERVICES[service]
    if not _SERVICE_PRINCIPAL.match(service):
        raise InvalidInput(f"Invalid service principal name: {service}")
    head = service.removesuffix(".amazonaws.com").split(".")[0]
    return LinkedRole("".join(part[:1].upper() + part[1:] for part in head.split("-")), None, True)


def linked_role_name(service: str, suffix: str | None) -> str:
    """The full role name for a service and optional custom suffix, as AWS forms it."""
    spec = linked_role(service)
    name = f"AWSServiceRoleFor{spec.name}"
    if suffix:
        if not spec.suffix:
            raise InvalidInput(f"Custom suffix is not allowed for {service}")
        name = f"{name}_{suffix}"
    if len(name) > ROLE_NAME_MAX:
        raise InvalidInput(f"The role name {name} is longer than {ROLE_NAME_MAX} characters.")
    return name


def trust_document(service: str) -> str:
    """The trust policy of a service-linked role: only its service may assume it."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


def _permissions_policy(service: str) -> str | None:
    """The ARN of the service's AWS managed permissions policy, when Rampart has it."""
    spec = KNOWN_SERVICES.get(service)
    if spec is None or spec.policy is None:
        return None
    arn = f"{AWS_POLICY_PREFIX}aws-service-role/{spec.policy}"
    return arn if aws_managed_policy(arn) is not None else None


@handler("iam", "CreateServiceLinkedRole")
def create_service_linked_role(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Create the role a service needs, named and trusted as AWS does it."""
    account_id = call.account_id or ""
    service = params["AWSServiceName"]
    name = linked_role_name(service, params.get("CustomSuffix"))
    data: dict[str, Any] = {
        "AssumeRolePolicyDocument": trust_document(service),
        "MaxSessionDuration": DEFAULT_MAX_SESSION_DURATION,
        "ServiceLinked": True,
        "AWSServiceName": service,
    }
    if params.get("Description"):
        data["Description"] = params["Description"]
    policy_arn = _permissions_policy(service)
    with call.gateway.db.session() as session:
        if store.get_entity(session, account_id, store.ROLE, name) is not None:
            taken = f"Service role name {name} has been taken in this account, please try a different suffix."
            raise InvalidInput(taken)
        role = store.insert_entity(
            session, account_id, store.ROLE, name, path=f"{SERVICE_ROLE_PATH}{service}/", data=data,
            created_at=call.received_at,
        )
        if policy_arn is not None:
            session.execute(
                insert(iam_attachments).values(
                    account_id=account_id, owner_kind=store.ROLE, owner_name=role.name, policy_arn=policy_arn
                )
            )
    return {"Role": role_output(role)}


@handler("iam", "DeleteServiceLinkedRole")
def delete_service_linked_role(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a service-linked role with the policies its service put on it; answers the task id."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as session:
        role = require_role(session, account_id, params["RoleName"])
        if not role.data.get("ServiceLinked"):
            raise NoSuchEntity(f"The role with name {role.name} is not a service-linked role.")
        if profiles_of_role(session, account_id, role.name):  # still in use: the task fails
            reason = "Cannot delete entity, must remove roles from instance profile first."
            return {"DeletionTaskId": _record_task(session, call, role, "FAILED", reason)}
        for table in (iam_attachments, iam_inline_policies):
            session.execute(
                delete(table).where(
                    table.c.account_id == account_id,
                    table.c.owner_kind == store.ROLE,
                    named(table.c.owner_name, role.name),
                )
            )
        store.delete_entity(session, role)
        task_id = _record_task(session, call, role, "SUCCEEDED", None)
    return {"DeletionTaskId": task_id}


def _record_task(session: Any, call: Call, role: store.Entity, status: str, reason: str | None) -> str:
    """Remember a deletion task's outcome under its id; answers the id."""
    service = role.data.get("AWSServiceName") or role.path.strip("/").split("/")[-1]
    task_id = f"task/aws-service-role/{service}/{role.name}/{uuid.uuid4()}"
    data: dict[str, Any] = {"Status": status, "RoleName": role.name}
    if reason:
        data["Reason"] = reason
    store.insert_entity(
        session, role.account_id, DELETION_TASK, task_id, path="/", data=data, created_at=call.received_at,
        entity_id=task_id, arn=task_id,
    )
    return task_id


@handler("iam", "GetServiceLinkedRoleDeletionStatus")
def get_service_linked_role_deletion_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The outcome of a deletion task (deletions finish at once: SUCCEEDED or FAILED)."""
    task_id = params["DeletionTaskId"]
    if not _TASK_ID.match(task_id):
        raise InvalidInput(f"Invalid deletion task id: {task_id}")
    with call.gateway.db.read() as conn:
        task = store.get_entity(conn, call.account_id or "", DELETION_TASK, task_id)
    if task is None:
        raise NoSuchEntity(f"Deletion task {task_id} cannot be found.")
    out: dict[str, Any] = {"Status": task.data["Status"]}
    if task.data.get("Reason"):
        out["Reason"] = {"Reason": task.data["Reason"]}
    return out
