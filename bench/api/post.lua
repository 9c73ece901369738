-- wrk script: POST /api/v1/appointments with a distinct start per request (booked appointments,
-- so the overlap rule for confirmed ones does not refuse them). Set by run.sh: KEY, DOCTOR,
-- SERVICE, PATIENT through environment variables. With PACE_MS set, each connection waits that
-- many milliseconds after a response before its next request (a steady, light load).
local counter = 0
local key = os.getenv("KEY")
local body_fmt = '{"doctor_id":%s,"service_id":%s,"patient_id":%s,"start":"%s"}'
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  n = 0
end
request = function()
  n = n + 1
  -- each thread walks its own hour grid from 2030 on; 30-minute slots never collide
  local minutes = (id * 10000000 + n) * 30
  local t = os.time({year = 2030, month = 1, day = 1, hour = 0}) + minutes * 60
  local start = os.date("!%Y-%m-%dT%H:%M:%SZ", t)
  local body = string.format(body_fmt, os.getenv("DOCTOR"), os.getenv("SERVICE"),
                             os.getenv("PATIENT"), start)
  return wrk.format("POST", "/api/v1/appointments",
                    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"},
                    body)
end
local pace = tonumber(os.getenv("PACE_MS") or "")
if pace then
  delay = function()
    return pace
  end
end
response = function(status, headers, body)
  if status ~= 201 then
    io.stderr:write("POST answered " .. status .. ": " .. body .. "\n")
  end
end
