-- Shared by the wrk scripts of bench_http.py: collects every thread's counters and
-- prints one machine-readable line, "WRK_JSON {...}", after wrk's own report.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local sent, exhausted = 0, 0
  for _, thread in ipairs(threads) do
    sent = sent + (thread:get("sent") or 0)
    exhausted = exhausted + (thread:get("exhausted") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"sent":%d,"exhausted":%d,'
      .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
      .. '"non_2xx_3xx":%d,"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,'
      .. '"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, sent, exhausted,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
end
