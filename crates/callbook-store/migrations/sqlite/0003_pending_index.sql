-- Due work only: only pending rows are ever claimed, so only they are indexed. A delivery that
-- succeeds or dies leaves the index, which stays the size of the queue; the index it replaces
-- grew with every delivery ever made, and every completion moved an entry within it.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (destination, next_attempt_at) WHERE state = 'pending';
-- Dead deliveries per destination: replay and the queue gauges.
CREATE INDEX deliveries_dead ON deliveries (destination) WHERE state = 'dead';
