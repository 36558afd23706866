"""``make openapi``: the one OpenAPI document of the whole API, merged from the three functions' resolvers."""
