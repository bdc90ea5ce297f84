-- Received requests were stored with the receive URL's token in their path,
-- though the token is its source's credential, of which only a hash is
-- meant to be kept. Mask it as requests are stored now: /in/<token> and
-- whatever follows becomes /in/**** and what follows. secure_delete has
-- the replaced text overwritten in the file, not left in free space.
PRAGMA secure_delete = ON;
UPDATE received
SET path = '/in/****' || CASE WHEN instr(substr(path, 5), '/') > 0 THEN substr(path, 4 + instr(substr(path, 5), '/')) ELSE '' END
WHERE substr(path, 1, 4) = '/in/' AND path <> '/in/****' AND substr(path, 1, 9) <> '/in/****/';
PRAGMA secure_delete = OFF;
