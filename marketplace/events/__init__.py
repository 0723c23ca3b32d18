"""Events between regions: the envelope an outbox event travels in, named consumers with an
inbox each, and the transports that carry envelopes from a region's relay to the consumers
(in process for the embedded default, NATS JetStream between data centers)."""
