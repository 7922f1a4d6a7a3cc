"""Tests of the rampart command line."""
