// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// rfactor: partial sums over k_1 into a new buffer, then a block reducing them.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %ko, %ki = schedule.split %k {factors = [-1, 3]}
  %rf = schedule.rfactor %ki
}

// CHECK:      %[[RF:.*]] = loop.alloc : memref<3x4x5xf32>
// CHECK:      loop.for %{{.*}} {kind = "reduction", label = "k_0"} (%[[KO:.*]]: index) {
// CHECK-NEXT:   loop.for %{{.*}} {kind = "reduction", label = "k_1"} (%[[KI:.*]]: index) {
// CHECK:          loop.block %[[I:.*]], %[[J:.*]], %[[KI]], %[[KO]] {label = "matmul_rf", iter_kinds = "SSSR", domain = [4, 5, 3, 2]} (%[[A:.*]]: index, %[[B:.*]]: index, %[[C:.*]]: index, %{{.*}}: index) {
// CHECK-NEXT:       %[[ZERO:.*]] = arith.constant 0.0 : f32
// CHECK-NEXT:       loop.store %[[ZERO]], %[[RF]], %[[C]], %[[A]], %[[B]]
// CHECK:            loop.store %{{.*}}, %[[RF]]
// CHECK:      loop.for %{{.*}} {kind = "reduction", label = "matmul_k_1"} (%[[R:.*]]: index) {
// CHECK-NEXT:   loop.block %{{.*}}, %{{.*}}, %[[R]] {label = "matmul", iter_kinds = "SSR", domain = [4, 5, 3]} (%[[X:.*]]: index, %[[Y:.*]]: index, %{{.*}}: index) {
// CHECK-NEXT:     %[[ZERO2:.*]] = arith.constant 0.0 : f32
// CHECK-NEXT:     loop.store %[[ZERO2]], %[[OUT:.*]], %[[X]], %[[Y]]
// CHECK-NEXT:     loop.yield
// CHECK-NEXT:   } (%[[P:.*]]: index, %[[Q:.*]]: index, %[[S:.*]]: index) {
// CHECK-NEXT:     %[[PART:.*]] = loop.load %[[RF]], %[[S]], %[[P]], %[[Q]] : f32
// CHECK-NEXT:     %[[ACC:.*]] = loop.load %[[OUT]], %[[P]], %[[Q]] : f32
// CHECK-NEXT:     %[[SUM:.*]] = arith.addf %[[ACC]], %[[PART]] : f32
// CHECK-NEXT:     loop.store %[[SUM]], %[[OUT]], %[[P]], %[[Q]]
