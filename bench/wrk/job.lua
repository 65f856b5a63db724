-- GET /jobs/{id}: each request reads another of the seeded jobs. The URL's path ends in "/jobs/".
require "common"

local ids = lines("jobs.txt")
local at

function init()
   at = start(ids)
end

function request()
   at = at % #ids + 1
   return wrk.format(nil, wrk.path .. ids[at])
end
