// RUN: lamina-opt %s | lamina-opt - | filecheck %s
// Printing then parsing gives the same text.

// CHECK-LABEL: func.func @f(%x: tensor<2x3xf32>, %y: tensor<3xf32>) -> tensor<2x3xf32> {
// CHECK-NEXT:    %s = graph.add %x, %y : tensor<2x3xf32>
// CHECK-NEXT:    %r = graph.relu %s : tensor<2x3xf32>
// CHECK-NEXT:    func.return %r : tensor<2x3xf32>
// CHECK-NEXT:  }
func.func @f(%x: tensor<2x3xf32>, %y: tensor<3xf32>) -> tensor<2x3xf32> {
  %s = graph.add %x, %y : tensor<2x3xf32>
  %r = graph.relu %s : tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}
