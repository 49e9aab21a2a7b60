// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p lower-graph-to-loop,apply-schedule
// Errors of the sequence itself: its target, block names, handle kinds.

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = graph.exp %a : tensor<4xf32>
  func.return %e : tensor<4xf32>
}
// expected-error @below {{schedule.sequence targets @g, which is not a function of this module}}
schedule.sequence @g () {
  %e = schedule.get_block "exp"
}

// -----

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = graph.exp %a : tensor<4xf32>
  func.return %e : tensor<4xf32>
}
schedule.sequence @f () {
  // expected-error @below {{no block labelled 'matmul' in @f (blocks: exp)}}
  %m = schedule.get_block "matmul"
}

// -----

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = graph.exp %a : tensor<4xf32>
  func.return %e : tensor<4xf32>
}
schedule.sequence @f () {
  %e = schedule.get_block "exp"
  // expected-error @below {{expected a loop handle, got the block 'exp'}}
  schedule.parallel %e
}

// -----

func.func @f(%a: tensor<8xf32>) -> tensor<8xf32> {
  %e = graph.exp %a : tensor<8xf32>
  func.return %e : tensor<8xf32>
}
schedule.sequence @f () {
  %e = schedule.get_block "exp"
  %i = schedule.get_loops %e : index
  %o, %n = schedule.split %i {factors = [2, 4]}
  // expected-error @below {{no loop labelled 'i0' in @f (an earlier primitive replaced it)}}
  schedule.parallel %i
}
