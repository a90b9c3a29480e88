package io.qspark.kernels.testing;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.ops.Resize;
import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The models of shared/models/realworld and their inputs as its README describes them:
 * Fashion-MNIST pixels normalised as the shared models expect, upsampled bilinearly with
 * half-pixel centres to the model's size and repeated to 3 channels where it takes 3; a second
 * input (siamese2's right) gets the same images in reverse order.
 */
public final class RealWorld {
  public static final List<String> MODELS = List.of("tiny_yolo.onnx", "lraspp_mobilenet_v3_large.onnx", "siamese2.onnx",
      "resnet_s_static1.onnx");

  private RealWorld() {}

  public static Path model(String name) {
    return Shared.model("realworld/" + name);
  }

  /** n images from an IDX file, for each input of the model. */
  public static Map<String, Tensor> inputs(Model m, String idxFile, int from, int n) throws IOException {
    Tensor gray = Shared.images(idxFile, from + n).slice0(from, from + n);
    Map<String, Tensor> feeds = new LinkedHashMap<>();
    int k = 0;
    for (ValueInfo in : m.graph().inputs()) {
      int[] s = in.shape();
      Tensor x = fit(gray, s[1], s[2], s[3]);
      feeds.put(in.name(), k++ == 0 ? x : reversed(x));
    }
    return feeds;
  }

  /** [n,1,28,28] to [n,c,h,w]: bilinear, half-pixel, as torch.nn.functional.interpolate(align_corners=False). */
  public static Tensor fit(Tensor gray, int c, int h, int w) {
    int n = gray.dim(0);
    Tensor up = gray;
    if (h != gray.dim(2) || w != gray.dim(3)) {
      Resize r = new Resize(Attributes.empty().with("mode", "linear").with("coordinate_transformation_mode", "half_pixel"));
      up = r.forward(new Tensor[] {gray, null, null, Tensor.ofLongs(new long[] {n, 1, h, w}, 4)})[0];
    }
    if (c == 1) return up;
    float[] src = up.data();
    int plane = h * w;
    float[] x = new float[n * c * plane];
    for (int i = 0; i < n; i++) for (int ch = 0; ch < c; ch++) System.arraycopy(src, i * plane, x, (i * c + ch) * plane, plane);
    return Tensor.of(x, n, c, h, w);
  }

  private static Tensor reversed(Tensor x) {
    int n = x.dim(0), per = x.size() / n;
    float[] y = new float[x.size()];
    for (int i = 0; i < n; i++) System.arraycopy(x.data(), (n - 1 - i) * per, y, i * per, per);
    return Tensor.of(y, x.shape());
  }
}
