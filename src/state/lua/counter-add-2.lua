--[[
  Adds increments to one sliding-window counter key and checks its threshold.

  The window is bucketed: a bucket starting at b (a multiple of bucket_ms) holds the events with
  b ≤ time < b + bucket_ms. With cb = the bucket of now_ms, the current window is the buckets
  cb − window_ms < b ≤ cb (window_ms / bucket_ms buckets), so sums are exact to the bucket.

  KEYS[1]  hash    buckets: 'c:<b>' sum, 'f:<b>' first event ms, 'l:<b>' last event ms; the
                   writer's 'seq:<writer>'; pending alerts 'a:<window end ms>' (see Alerts)
  KEYS[2]  string  alert marker: the bucket start at which the last alert fired
  ARGV[1]  integer now_ms: event-time high-water mark (raised to the newest last_ms given)
  ARGV[2]  integer window_ms: a positive multiple of bucket_ms
  ARGV[3]  integer bucket_ms
  ARGV[4]  integer threshold: alert when the window sum reaches it; 0 = no threshold
  ARGV[5]  integer lateness_ms: how far before the window a bucket may still be applied
  ARGV[6]  integer n: number of updates that follow
  ARGV[7…] per update, 4 values: bucket_start_ms, increment (integer), first_ms, last_ms
           (the caller has already combined the updates of one bucket)
  then, optionally (idempotent replays), 2 values:
  ARGV[7+4n]  string   seq_field: the writer's field in KEYS[1] (`seq:<writer>`), '' = no check
  ARGV[8+4n]  integer  batch_seq: the batch's sequence (its last frame's, runtime/sequence.ts)

  Replays: with a seq_field, a call whose batch_seq is at or below the field's value changes nothing
  and returns sum_now = -1 with no late buckets, and the key's pending alerts (a batch sent again
  after a lost reply, or replayed from the spool); otherwise the field takes batch_seq along with the
  increments (one HGET more per call without a threshold; with one it comes with the HGETALL).

  Late: an update whose bucket starts at or before cb − window_ms − lateness_ms is not applied.
  Buckets are kept for window + lateness (so a tolerated late update can still complete a
  window ending at its own time); older ones are deleted on every call.

  Threshold: evaluated on the window ending at the newest bucket applied in this call (ref; the
  current window in the normal, in-order case). It fires when that sum ≥ threshold and no alert
  fired within the previous window (marker absent or ref ≥ marker + window_ms), then records
  the marker with PX window + lateness + bucket (the comparison uses event time, the PX only
  collects the key).

  Alerts are pending until confirmed: a fired alert is also stored in KEYS[1] as field
  'a:<window end ms>' = its text, and every call with a threshold (replays too) returns every
  pending alert of the key, so an alert whose XADD to the alerts stream was lost is returned again
  by the batch's retry or replay (at least once). The caller deletes the field once the alert is
  written; an unconfirmed one lives as long as the hash (until it idles out).

  Redis TTL: the bucket hash gets PX window + lateness + bucket, so an idle key disappears.

  Without a threshold no window sum is needed: the fast path touches only the buckets given
  (HINCRBY, HMGET of their first/last) and reads the whole hash to drop old buckets only when it
  holds more fields than the retained range can (HLEN is O(1)). sum_now is then 0. Most traffic
  counters (denies per source, bytes per user) have no threshold: this keeps them cheap.

  Returns: { sum_now, a, l, late_bucket_start ×l, alert ×a } — sum_now is -1 for a replayed call
           (0 without a threshold); the late bucket starts let the caller count late events; each
           alert is the text 'value first_ms last_ms window_start_ms window_end_ms' (window
           [start, end) in ms; first/last: the times of the first and last event counted), the
           one fired by this call and any still pending, in no particular order.
  Errors (integer reply): -1 bad argument, -4 window not a positive multiple of the bucket.
]]
--@include counter-add-core

return counterAdd(KEYS[1], KEYS[2], ARGV)
