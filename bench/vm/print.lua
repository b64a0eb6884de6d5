-- print.lua: string output, 1000000 numbers and 100000 strings, one a line (bench/vm; same as print.pxasm)
for i = 1, 1000000 do
  print(i * 7)
  if i % 10 == 0 then print("ten more lines") end
end
