-- Received requests were stored with the receive URL's token in their path,
-- though the token is its source's credential, of which only a hash is
-- meant to be kept. Mask it as requests are stored now: /in/<token> and
-- whatever follows becomes /in/**** and what follows.
UPDATE received SET path = regexp_replace(path, '^/in/[^/]*', '/in/****')
WHERE path LIKE '/in/%' AND path !~ '^/in/[*]{4}(/|$)';
