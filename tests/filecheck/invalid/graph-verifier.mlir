// RUN: lamina-opt %s --split-input-file --verify-diagnostics
// Type and shape errors found by the graph table's rules, each at its op.

func.func @dtype_mismatch(%a: tensor<4xf32>, %b: tensor<4xi32>) -> tensor<4xf32> {
  // expected-error @below {{element types differ}}
  %c = graph.add %a, %b
  func.return %c : tensor<4xf32>
}

// -----

func.func @matmul_inner(%a: tensor<4x3xf32>, %b: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @below {{contracted dims differ}}
  %c = graph.matmul %a, %b
  func.return %c : tensor<4x3xf32>
}

// -----

func.func @broadcast(%a: tensor<4x3xf32>, %b: tensor<5xf32>) -> tensor<4x3xf32> {
  // expected-error @below {{broadcast}}
  %c = graph.mul %a, %b
  func.return %c : tensor<4x3xf32>
}

// -----

func.func @reshape_count(%a: tensor<4x3xf32>) -> tensor<5x2xf32> {
  // expected-error @below {{reshape}}
  %c = graph.reshape %a {shape = [5, 2]}
  func.return %c : tensor<5x2xf32>
}

// -----

func.func @declared_type_differs(%a: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @below {{tensor<4x3xf32>}}
  %c = graph.relu %a : tensor<4x4xf32>
  func.return %a : tensor<4x3xf32>
}

// -----

func.func @float_only(%a: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @below {{float}}
  %c = graph.exp %a
  func.return %c : tensor<4xi32>
}
