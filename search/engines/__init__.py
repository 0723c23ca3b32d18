"""Search engine implementations of `search.gateways.SearchEngine`.

- `embedded.EmbeddedEngine`: tantivy in the process, the default (`make run`, tests).
- `elastic.ElasticsearchEngine`: production, when ELASTICSEARCH_URL is set.

Both pass tests/search/test_engine_behaviour.py. Import the module you need: importing this
package loads neither engine.
"""
