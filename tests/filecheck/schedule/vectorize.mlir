// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// vectorize: the innermost loop, after moving the reduction outward.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  schedule.reorder %k, %j
  schedule.vectorize %j
}

// CHECK:      label = "i"
// CHECK-NEXT: loop.for %{{.*}} {kind = "reduction", label = "k"}
// CHECK-NEXT: loop.for %{{.*}} {kind = "parallel", label = "j", vectorize = true}
