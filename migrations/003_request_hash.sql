-- A hash of the request that carried a message (HTTP: its method, conversation and body), kept beside
-- its platform message id (an HTTP Idempotency-Key): a retry of the same request gets the same
-- message's answer; the same id on another request is refused instead of being taken for a retry.
alter table messages add column request_sha256 text;
