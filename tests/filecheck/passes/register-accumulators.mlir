// RUN: lamina-opt %s -p 'lower-graph-to-loop,default-schedule{threads=1},unswitch-guards,register-accumulators' | filecheck %s
// A register tile of 6 rows x 16 columns updates the same 96 elements of %out at every step of
// k. The pass gives them a local buffer for the whole reduction: initialized by the init nest
// right before k (which wrote %out's tile and now writes the buffer, unrolled like the tile),
// updated in place, copied out after, so the code generator keeps the tile in registers
// without having to prove the 12 vector addresses apart.

// CHECK-LABEL: func.func @matmul
// CHECK:         %[[TILE:.*]] = loop.alloc {scope = "local"} : memref<6x16xf32>
// CHECK-NEXT:    loop.for %{{.*}}, %{{.*}} {label = "i_1_init", unroll = 6} (%[[I:.*]]: index) {
// CHECK-NEXT:      loop.for %{{.*}}, %{{.*}} {label = "j_init", vectorize = true} (%[[J:.*]]: index) {
// CHECK:             loop.block {{.*}} {label = "matmul_init"
// CHECK:               loop.store %{{.*}}, %[[TILE]], %[[I]], %[[J]]
// CHECK-NOT:     matmul_acc_in
// CHECK:         loop.for %{{.*}}, %{{.*}} {kind = "reduction", label = "k"}
// CHECK-NEXT:      loop.for %{{.*}}, %{{.*}} {label = "i_1", unroll = 6} (%[[TI:.*]]: index) {
// CHECK-NEXT:        loop.for %{{.*}}, %{{.*}} {label = "j", vectorize = true} (%[[TJ:.*]]: index) {
// CHECK-NOT:           loop.load %2,
// CHECK:               %[[ACC:.*]] = loop.load %[[TILE]], %[[TI]], %[[TJ]] : f32
// CHECK-NEXT:          %[[SUM:.*]] = arith.addf %[[ACC]], %{{.*}} : f32
// CHECK-NEXT:          loop.store %[[SUM]], %[[TILE]], %[[TI]], %[[TJ]]
// CHECK:         loop.for %{{.*}}, %{{.*}} {label = "i_1_acc_out", unroll = 6}
// CHECK:             loop.block {{.*}} {label = "matmul_acc_out"
// CHECK:               %[[OUT:.*]] = loop.load %[[TILE]], %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:          loop.store %[[OUT]], %2, %{{.*}}, %{{.*}}
func.func @matmul(%a: tensor<12 x 8 x f32>, %b: tensor<8 x 16 x f32>) -> tensor<12 x 16 x f32> {
  %y = graph.matmul %a, %b : tensor<12 x 16 x f32>
  func.return %y : tensor<12 x 16 x f32>
}
