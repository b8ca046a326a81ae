"""The REST transport: the WSGI app, its keep-alive server, the control plane and the OpenAPI and
discovery documents. It translates HTTP to and from the core and holds no state.
"""
