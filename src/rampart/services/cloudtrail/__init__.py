"""CloudTrail: every call recorded, searchable, delivered to S3 and tamper-evident.

``history`` stores each call's event (read from the call journal by the
history process, ``history_process``, off the request path) and ``lookup`` serves LookupEvents over
it; ``trails`` holds the trails and ``selectors`` decides which events each
trail takes; ``api_trails`` serves the trail operations and ``trail_access`` tells the
policy engine about trails (organization trails' implicit policy); ``delivery`` writes
log files through Rampart's own S3 as cloudtrail.amazonaws.com; ``digests``
and ``signing`` make the hourly signed digest chain; ``validate`` checks a
chain offline (``rampart trail validate``); ``insights`` learns call and
error rates and emits Insights events.

The package imports none of them: the gateway's ``load_services`` imports
every module (registering handlers and jobs), and the history process needs
only ``history``, so it starts without the rest.
"""
