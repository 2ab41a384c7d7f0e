-- The place an inquiry is about (WGS 84 point and/or the address the citizen gave). Personal
-- data like the sender: exported and erased with the case, cleared on anonymisation.
ALTER TABLE inquiries ADD COLUMN location_lat REAL;
ALTER TABLE inquiries ADD COLUMN location_lon REAL;
ALTER TABLE inquiries ADD COLUMN location_address TEXT;
