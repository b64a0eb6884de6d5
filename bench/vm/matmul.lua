-- matmul.lua: 20 products of 64x64 integer matrices (bench/vm; same as matmul.pxasm)
local A, B, C = {}, {}, {}
for i = 0, 4095 do A[i] = i % 7; B[i] = i % 5 end
for rep = 1, 20 do
  for i = 0, 63 do
    for j = 0, 63 do
      local sum = 0
      for k = 0, 63 do sum = sum + A[i * 64 + k] * B[k * 64 + j] end
      C[i * 64 + j] = sum
    end
  end
end
local tr = 0
for i = 0, 63 do tr = tr + C[i * 65] end
print(tr)
