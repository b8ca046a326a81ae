"""The emulated service: the clock, operations and their timelines, the store, the Operations methods,
scripting, starting methods, faults, the call log, credentials, scenarios and the failure report.

It imports the wire contract and nothing of the transports, pytest or freezegun.
"""
