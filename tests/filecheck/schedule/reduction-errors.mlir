// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p lower-graph-to-loop,apply-schedule
// Refusals of decompose_reduction and rfactor.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %r = schedule.get_block "relu"
  %x, %y = schedule.get_loops %r : index, index
  // expected-error @below {{the loop does not enclose the block}}
  %init = schedule.decompose_reduction %m, %x
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %r = schedule.get_block "relu"
  %x, %y = schedule.get_loops %r : index, index
  // expected-error @below {{the block has no reduce iterator with an init}}
  %init = schedule.decompose_reduction %r, %x
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  schedule.reorder %k, %i
  // expected-error @below {{the reduction loop 'k' encloses it}}
  %init = schedule.decompose_reduction %m, %i
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  // expected-error @below {{cannot rfactor 'j': it is not a reduction loop of any block}}
  %rf = schedule.rfactor %j
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  // expected-error @below {{factor_axis 5 is not in [0, 2]}}
  %rf = schedule.rfactor %k {factor_axis = 5}
}
