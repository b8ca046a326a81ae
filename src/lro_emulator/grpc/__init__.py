"""The gRPC transport: google.longrunning.Operations and declared starting methods over grpcio.

It translates gRPC to and from the core and holds no state. grpcio is an extra: import this only when serving gRPC.
"""
