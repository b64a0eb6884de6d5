-- loop.lua: 100 million iterations of s = (s + i) % 65536 (bench/vm; same as loop.pxasm)
local s = 0
local i = 0
repeat
  s = (s + i) % 65536
  i = i + 1
until not (i < 100000000)
print(s)
