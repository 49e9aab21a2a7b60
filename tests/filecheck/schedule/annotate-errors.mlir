// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p lower-graph-to-loop,apply-schedule
// Refusals of parallel, vectorize, unroll and bind: carried dependences and misplaced loops.

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  // expected-error @below {{cannot parallelize 'k': 'k' is a reduction loop}}
  schedule.parallel %k
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  // expected-error @below {{cannot vectorize 'i': it is not an innermost loop}}
  schedule.vectorize %i
}

// -----

// A serial loop whose iterations all write element 0 (a running sum kept in place).
func.func @carried(%0: memref<8xf32>, %1: memref<1xf32>) attributes {lamina.outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  loop.for %c0, %c8 {label = "i"} (%i: index) {
    loop.block %i {label = "acc", iter_kinds = "S", domain = [8]} (%a: index) {
      loop.yield
    } (%b: index) {
      %x = loop.load %0, %b : f32
      %s = loop.load %1, %c0 : f32
      %y = arith.addf %x, %s : f32
      loop.store %y, %1, %c0
      loop.yield
    }
    loop.yield
  }
  func.return
}
schedule.sequence @carried () {
  %b = schedule.get_block "acc"
  %i = schedule.get_loops %b : index
  // expected-error @below {{cannot parallelize 'i': iterations of 'i' write the same buffer element}}
  schedule.parallel %i
}

// -----

// out[i] = out[i + 1]: iteration i reads what iteration i + 1 writes.
func.func @shift(%0: memref<9xf32>) attributes {lamina.outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  loop.for %c0, %c8 {label = "i"} (%i: index) {
    loop.block %i {label = "shift", iter_kinds = "S", domain = [8]} (%a: index) {
      loop.yield
    } (%b: index) {
      %n = arith.addi %b, %c1 : index
      %x = loop.load %0, %n : f32
      loop.store %x, %0, %b
      loop.yield
    }
    loop.yield
  }
  func.return
}
schedule.sequence @shift () {
  %b = schedule.get_block "shift"
  %i = schedule.get_loops %b : index
  // expected-error @below {{cannot vectorize 'i': a buffer written inside 'i' is accessed at different indices}}
  schedule.vectorize %i
}

// -----

func.func @f(%a: tensor<n x f32>) -> tensor<n x f32> {
  %e = graph.exp %a : tensor<n x f32>
  func.return %e : tensor<n x f32>
}
schedule.sequence @f () {
  %e = schedule.get_block "exp"
  %i = schedule.get_loops %e : index
  // expected-error @below {{cannot fully unroll 'i0': its trip count is not static}}
  schedule.unroll %i
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  schedule.bind %i {thread = "threadIdx.x"}
  // expected-error @below {{the enclosing loop 'i' is bound to it already}}
  schedule.bind %j {thread = "threadIdx.x"}
}

// -----

func.func @f(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @f () {
  %m = schedule.get_block "matmul"
  %i, %j, %k = schedule.get_loops %m : index, index, index
  // expected-error @below {{cannot bind 'threadIdx.x' to 'k': 'k' is a reduction loop}}
  schedule.bind %k {thread = "threadIdx.x"}
}
