// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @missing_comma(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{expected}}
  %c = graph.add %a %b
  func.return %c : tensor<4xf32>
}

// -----

// expected-error @below {{element type}}
func.func @bad_type(%a: tensor<4xf33>) -> tensor<4xf32> {
  func.return %a : tensor<4xf32>
}

// -----

func.func @unknown_resource() -> tensor<20xf32> {
  // expected-error @below {{unknown resource 'nowhere'}}
  %w = graph.const dense_resource<nowhere> : tensor<20xf32>
  func.return %w : tensor<20xf32>
}
