-- GET a check, rotating the recipient over a file of URL-encoded numbers, so that
-- every request is a different projection row.
--   wrk ... -s bench/wrk/check.lua URL -- NUMBERS_FILE PATH_PREFIX [BEARER_KEY]
-- PATH_PREFIX is everything up to the number, e.g. "/check?to=" or
-- "/v1/check?from=%2B18005550100&purpose=marketing&to=".
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

local numbers, prefix, headers = {}, "", {}
local count, offset = 0, 0
sent, exhausted = 0, 0

function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    numbers[count] = line
  end
  prefix = args[2]
  if args[3] and args[3] ~= "" then
    headers["Authorization"] = "Bearer " .. args[3]
  end
  -- threads start at different places in the list
  offset = (id or 0) * 7919
end

function request()
  sent = sent + 1
  local number = numbers[(offset + sent) % count + 1]
  return wrk.format("GET", prefix .. number, headers)
end
