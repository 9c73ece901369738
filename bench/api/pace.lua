-- wrk script: the command line's GET, each connection waiting PACE_MS milliseconds after every
-- response before its next request (a steady, light load; availability.sh); answers other than
-- 200 are written to stderr.
local pace = tonumber(os.getenv("PACE_MS") or "20")
delay = function()
  return pace
end
response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("GET answered " .. status .. ": " .. body .. "\n")
  end
end
