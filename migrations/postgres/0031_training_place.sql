-- The coarse place of a labelled example: its point snapped to the centre of a grid cell of
-- about 500 m (domain::location::coarse), never the exact coordinates.
ALTER TABLE training_examples ADD COLUMN cell_lat DOUBLE PRECISION;
ALTER TABLE training_examples ADD COLUMN cell_lon DOUBLE PRECISION;
