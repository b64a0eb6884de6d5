-- sum.lua: s = s + i % 7 for 30 million i (bench/vm; same as sum.pxasm, which is seed-style code)
local s, i = 0, 0
repeat
  s = s + i % 7
  i = i + 1
until not (i < 30000000)
print(s)
