// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// unroll: a factor, or the whole static trip count.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  schedule.unroll %k
  schedule.unroll %j {factor = 2}
}

// CHECK:      {kind = "parallel", label = "j", unroll = 2}
// CHECK-NEXT: {kind = "reduction", label = "k", unroll = 6}
