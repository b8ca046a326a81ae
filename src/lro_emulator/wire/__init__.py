"""The wire contract the emulator speaks: status codes, errors, proto3 JSON, protobuf interop, service
profiles, the route table and schema validation. It imports nothing else of the package.
"""
