-- GET /jobs?q=word: the URL is the whole request; only the statuses are counted.
require "common"
