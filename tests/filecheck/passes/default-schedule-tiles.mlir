// RUN: lamina-opt %s -p 'lower-graph-to-loop,simplify-indices,default-schedule{threads=2}' | filecheck %s
// A static matmul gets a register tile: columns j split by 16 (vectorized: two AVX2 vectors),
// rows i split by 6 (unrolled: 6 x 2 accumulators; the last of the 11 row tiles has 4 rows and
// is guarded), the init split off before the reduction k, the row tiles run across the
// threads. The bias add is inlined into the relu after it (elementwise fusion), and that block
// is computed inside the tile (epilogue fusion), on 6x16 elements at a time.

// CHECK-LABEL: func.func @dense
// CHECK:       loop.for %{{.*}} {kind = "parallel", label = "i_0"}
// CHECK-NEXT:    loop.for %{{.*}} {kind = "parallel", label = "j_0"}
// CHECK:         loop.block {{.*}}label = "matmul_init"
// CHECK:         loop.for %{{.*}} {kind = "reduction", label = "k"}
// CHECK-NEXT:      loop.for %{{.*}} {kind = "parallel", label = "i_1", unroll = 6}
// CHECK-NEXT:        loop.for %{{.*}} {kind = "parallel", label = "j_1", vectorize = true}
// CHECK:               loop.block {{.*}}label = "matmul", iter_kinds = "SSR"
// CHECK:         loop.for %{{.*}} {kind = "parallel", label = "relu_0"}
// CHECK-NEXT:      loop.for %{{.*}} {kind = "parallel", label = "relu_1", vectorize = true}
// CHECK:             loop.block {{.*}}label = "relu"
// CHECK:               arith.addf
// CHECK:               arith.maximumf
// CHECK-NOT:   label = "add"
func.func @dense(%x: tensor<64x32xf32>, %w: tensor<32x48xf32>, %b: tensor<48xf32>) -> tensor<64x48xf32> {
  %h = graph.matmul %x, %w : tensor<64x48xf32>
  %a = graph.add %h, %b : tensor<64x48xf32>
  %r = graph.relu %a : tensor<64x48xf32>
  func.return %r : tensor<64x48xf32>
}

// A conv whose tile runs along the output channels (32 of them, constant weights) holds its
// outputs transposed to the output's layout: its bias + ReLU epilogue stays a nest of its own,
// vectorized along the contiguous positions, instead of running inside the tile.
// CHECK-LABEL: func.func @conv
// CHECK:       loop.for %{{.*}} {kind = "parallel", label = "o_0_oy_fused"}
// CHECK:         loop.block {{.*}}label = "conv2d", iter_kinds = "SSSSSRRR"
// CHECK-NOT:     label = "relu"
// CHECK:       loop.for %{{.*}} {kind = "parallel", label = "i0_0_i1_0_fused"}
// CHECK:         loop.for %{{.*}} {kind = "parallel", label = "i3_0", vectorize = true}
// CHECK:           loop.block {{.*}}label = "relu"
// CHECK:             arith.addf
// CHECK:             arith.maximumf
func.func @conv(%x: tensor<1x8x40x40xf32>) -> tensor<1x32x40x40xf32> {
  %w = graph.const dense<0.5> : tensor<32x8x3x3xf32>
  %b = graph.const dense<0.25> : tensor<1x32x1x1xf32>
  %xp = graph.pad %x {pads = [0, 0, 1, 1, 0, 0, 1, 1]} : tensor<1x8x42x42xf32>
  %c = graph.conv2d %xp, %w : tensor<1x32x40x40xf32>
  %a = graph.add %c, %b : tensor<1x32x40x40xf32>
  %r = graph.relu %a : tensor<1x32x40x40xf32>
  func.return %r : tensor<1x32x40x40xf32>
}

// A max pool is no contraction: no second operand whose loads a tile's rows would share. It
// keeps the plain schedule, reductions inside the output row, the row vectorized (stride-2
// loads), not a register tile with a local accumulator buffer.
func.func @max_pool(%x: tensor<1x16x18x18xf32>) -> tensor<1x16x8x8xf32> {
  %y = graph.max_pool2d %x {kernel = [3, 3], strides = [2, 2]} : tensor<1x16x8x8xf32>
  func.return %y : tensor<1x16x8x8xf32>
}

// CHECK-LABEL: func.func @max_pool
// CHECK-NOT:     loop.alloc {scope = "local"}
// CHECK:         loop.for {{.*}} {kind = "reduction", label = "ky"}
// CHECK-NEXT:      loop.for {{.*}} {kind = "reduction", label = "kx"}
// CHECK-NEXT:        loop.for {{.*}} {label = "ox", vectorize = true}
// CHECK-NEXT:          loop.block {{.*}} {label = "max_pool2d"
