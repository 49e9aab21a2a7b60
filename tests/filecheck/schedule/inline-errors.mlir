// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p lower-graph-to-loop,apply-schedule
// Refusals of compute_inline and reverse_compute_inline.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  // expected-error @below {{cannot inline 'matmul': it is a reduction block}}
  schedule.compute_inline %m
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
  // expected-error @below {{cannot inline 'relu': it writes a function argument, not an intermediate buffer}}
  schedule.compute_inline %r
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
  // expected-error @below {{its producer 'matmul' is a reduction block}}
  schedule.reverse_compute_inline %r
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %e = graph.exp %a : tensor<4x6xf32>
  %c = graph.matmul %e, %b : tensor<4x5xf32>
  %d = graph.relu %c : tensor<4x5xf32>
  func.return %d : tensor<4x5xf32>
}
schedule.sequence @f () {
  %e = schedule.get_block "exp"
  // expected-error @below {{cannot reverse-inline 'exp': it must read exactly one buffer written by another block, it reads 0}}
  schedule.reverse_compute_inline %e
}
