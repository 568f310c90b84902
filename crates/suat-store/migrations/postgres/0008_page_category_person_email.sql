-- GRAPH-WIRE §5: a page's `category` (and so `category_list`) and a person's `email` are fields clients read
-- (`/me/accounts` lists both by default); both are seeded by the operator and absent until then.
ALTER TABLE pages ADD COLUMN category TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
