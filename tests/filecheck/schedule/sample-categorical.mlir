// RUN: lamina-opt %s -p lower-graph-to-loop,apply-schedule | filecheck %s
// sample_categorical: the recorded choice (index 2 of the candidates) is the unroll factor.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}

schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  %u = schedule.sample_categorical {candidates = [1, 2, 3], decision = 2}
  schedule.unroll %k, %u
}

// CHECK: {kind = "reduction", label = "k", unroll = 3}
