-- wrk script: events.insert with a unique client-chosen id per request (base32hex: 0-9, a-v).
--   wrk -t2 -c32 -d10s -s insert.lua URL/calendar/v3/calendars/primary/events -- TOKEN RUN
-- RUN (hex digits) keeps ids of separate runs apart.
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

local token, run, counter

function init(args)
  token = args[1]
  run = args[2] or "0"
  counter = 0
end

function request()
  counter = counter + 1
  local id = string.format("bench%s%dt%x", run, tid, counter)
  local body = '{"id":"' .. id .. '","summary":"Consultation",' ..
      '"start":{"dateTime":"2026-03-02T10:00:00Z"},"end":{"dateTime":"2026-03-02T10:30:00Z"}}'
  return wrk.format("POST", nil, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

local failures = 0
function response(status)
  if status ~= 200 then failures = failures + 1 end
end
