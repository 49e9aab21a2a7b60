// RUN: lamina-opt %s --split-input-file --verify-diagnostics
// Attribute errors: unknown, ill-typed, missing, out of range.

func.func @unknown_attr(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{unknown attribute 'beta'}}
  %c = graph.leaky_relu %a {beta = 0.5}
  func.return %c : tensor<4xf32>
}

// -----

func.func @ill_typed(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{axis}}
  %c = graph.softmax %a {axis = "last"}
  func.return %c : tensor<4xf32>
}

// -----

func.func @missing(%a: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @below {{missing required attribute 'shape'}}
  %c = graph.reshape %a
  func.return %a : tensor<4x3xf32>
}

// -----

func.func @axis_range(%a: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @below {{axis}}
  %c = graph.softmax %a {axis = 5}
  func.return %c : tensor<4x3xf32>
}
