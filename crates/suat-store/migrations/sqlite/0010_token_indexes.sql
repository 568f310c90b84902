-- Fewer pages written per token (issue 12). Each index entry of a token ends with its key, the random hash, so an
-- index led by a value most tokens share puts each new token at a random place: one more page written per token, in
-- a different place each time.
-- No statement looks a token up by its parent: that index only cost every insert a page.
DROP INDEX tokens_parent;
-- "Revoke all" finds a user's tokens by user_id. Ordered by issued_at within the user, a new token's entry goes at
-- the end of its user's range, where the others issued that second went.
DROP INDEX tokens_user;
CREATE INDEX tokens_user ON tokens(user_id, issued_at);
