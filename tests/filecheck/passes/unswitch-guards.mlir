// RUN: lamina-opt %s -p lower-graph-to-loop,default-schedule{threads=1},unswitch-guards | filecheck %s
// A symbolic batch split into register tiles of 6 rows guards every row of the last tile. The
// pass tests the guard once per tile, at the tile's last row, and runs a guard-free copy of the
// tile (labels suffixed _full) when it holds. Otherwise the tile's rows are bounded by what is
// left of the batch, r = min(6, n - 6 io), and the update runs once per r in 2..5 (labels
// suffixed _rows<r>): r rows unrolled inside the reduction, r rows of accumulators. Any other
// r runs the row loop (no longer unrolled) outside the reduction, one row at a time.

// CHECK-LABEL: func.func @batch
// CHECK:         %[[N:.*]] = loop.size "n" : index
// CHECK:         loop.for %{{.*}}, %{{.*}} {label = "i_0"} (%[[IO:.*]]: index) {
// CHECK:           %[[LAST:.*]] = arith.constant 5 : index
// CHECK:           arith.muli %[[IO]], %{{.*}} : index
// CHECK:           arith.muli %[[N]], %{{.*}} : index
// CHECK:           %[[ALL:.*]] = arith.cmpi slt, %{{.*}}, %{{.*}} : i1
// CHECK-NEXT:      %[[TRUE:.*]] = arith.constant true : i1
// CHECK-NEXT:      %[[SOME:.*]] = arith.xori %[[ALL]], %[[TRUE]] : i1
// CHECK:           arith.minsi
// CHECK:           loop.if %[[ALL]] () {
// CHECK-NOT:         loop.if
// CHECK:             loop.block {{.*}} {label = "matmul_init_full"
// CHECK-NOT:         loop.if
// CHECK:             loop.block {{.*}} {label = "matmul_full"
// CHECK:           loop.if %[[SOME]] () {
// CHECK-NEXT:        loop.for %{{.*}}, %{{.*}} {label = "i_1_init"}
// CHECK-NOT:         loop.if
// CHECK:             loop.block {{.*}} {label = "matmul_init"
// CHECK:             loop.if %{{.*}} () {
// CHECK-NEXT:          loop.for %{{.*}}, %{{.*}} {kind = "reduction", label = "k_rows2"}
// CHECK-NEXT:            loop.for %{{.*}}, %{{.*}} {label = "i_1_rows2", unroll = 2}
// CHECK:               loop.block {{.*}} {label = "matmul_rows2"
// CHECK:               loop.for %{{.*}}, %{{.*}} {kind = "reduction", label = "k_rows5"}
// CHECK-NEXT:            loop.for %{{.*}}, %{{.*}} {label = "i_1_rows5", unroll = 5}
// CHECK:             loop.if %{{.*}} () {
// CHECK-NEXT:        loop.for %{{.*}}, %{{.*}} {label = "i_1"}
// CHECK-NEXT:          loop.for %{{.*}}, %{{.*}} {kind = "reduction", label = "k"}
// CHECK-NOT:           loop.if
// CHECK:                 loop.block {{.*}} {label = "matmul"
func.func @batch(%a: tensor<n x 8 x f32>, %b: tensor<8 x 16 x f32>) -> tensor<n x 16 x f32> {
  %y = graph.matmul %a, %b : tensor<n x 16 x f32>
  func.return %y : tensor<n x 16 x f32>
}
