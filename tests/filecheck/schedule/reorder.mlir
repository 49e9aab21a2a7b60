// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// reorder: loop headers of the perfect nest are permuted; the block still binds i, j, k.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  schedule.reorder %k, %j, %i
}

// CHECK:      loop.for %{{.*}} {kind = "reduction", label = "k"} (%[[K:.*]]: index) {
// CHECK-NEXT:   loop.for %{{.*}} {kind = "parallel", label = "j"} (%[[J:.*]]: index) {
// CHECK-NEXT:     loop.for %{{.*}} {kind = "parallel", label = "i"} (%[[I:.*]]: index) {
// CHECK-NEXT:       loop.block %[[I]], %[[J]], %[[K]] {label = "matmul", iter_kinds = "SSR", domain = [4, 5, 6]}
