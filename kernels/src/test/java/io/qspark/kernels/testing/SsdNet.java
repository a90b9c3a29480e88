package io.qspark.kernels.testing;

import io.qspark.kernels.caffe.proto.CaffeProto.BlobProto;
import io.qspark.kernels.caffe.proto.CaffeProto.BlobShape;
import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * A small SSD-style Caffe net, laid out as weiliu89/caffe's VGG SSD deploy prototxt is (and as
 * CHaiDNN's model zoo runs it): convs, an L2 Normalize on the first source layer, per source a
 * loc and a conf conv each Permuted to [N, H, W, C] and Flattened, a PriorBox per source, the
 * three Concats, the conf Reshape/Softmax/Flatten, and DetectionOutput. Two sources (16x16 and
 * 8x8 of a 32x32 image), 4 priors each (min and max size, aspect ratio 2 flipped), 3 classes.
 * {@link #PASSED} are the layers CHaiDNN runs in software that qspark only passes through, with
 * their parameter blocks exactly as TextFormat prints them, so a test can find them verbatim.
 */
public final class SsdNet {
  private SsdNet() {}

  public static final int CLASSES = 3;
  public static final int PRIORS = 4;

  /** The parameter block of each passed-through layer, as written below. */
  public static final String PRIOR3 = prior("16.0", "28.0", "4.0");
  public static final String PRIOR4 = prior("28.0", "40.0", "8.0");

  /** A PriorBox's parameters as TextFormat prints them: SSD's variances, aspect ratio 2 flipped, unclipped. */
  private static String prior(String min, String max, String step) {
    return "prior_box_param {\n  min_size: " + min + "\n  max_size: " + max + "\n  aspect_ratio: 2.0\n  flip: true\n"
        + "  clip: false\n  variance: 0.1\n  variance: 0.1\n  variance: 0.2\n  variance: 0.2\n  step: " + step
        + "\n  offset: 0.5\n}";
  }

  public static final String DETECTION = """
      detection_output_param {
        num_classes: 3
        share_location: true
        background_label_id: 0
        nms_param {
          nms_threshold: 0.45
          top_k: 400
        }
        save_output_param {
          label_map_file: "labelmap.prototxt"
        }
        code_type: CENTER_SIZE
        keep_top_k: 200
        confidence_threshold: 0.01
      }""";
  public static final String NORM = """
      norm_param {
        across_spatial: false
        scale_filler {
          type: "constant"
          value: 20.0
        }
        channel_shared: false
      }""";

  public static final String PROTOTXT = """
      name: "ssd_tiny"
      layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 32 dim: 32 } } }
      layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 8 pad: 1 kernel_size: 3 } }
      layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
      layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
      layer { name: "conv3" type: "Convolution" bottom: "pool1" top: "conv3" convolution_param { num_output: 8 pad: 1 kernel_size: 3 } }
      layer { name: "relu3" type: "ReLU" bottom: "conv3" top: "conv3" }
      layer { name: "pool3" type: "Pooling" bottom: "conv3" top: "pool3" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
      layer { name: "conv4" type: "Convolution" bottom: "pool3" top: "conv4" convolution_param { num_output: 8 pad: 1 kernel_size: 3 } }
      layer { name: "relu4" type: "ReLU" bottom: "conv4" top: "conv4" }
      layer { name: "conv3_norm" type: "Normalize" bottom: "conv3" top: "conv3_norm"
      """ + NORM + """
       }
      """ + heads("conv3_norm", PRIOR3) + heads("conv4", PRIOR4) + """
      layer { name: "mbox_loc" type: "Concat" bottom: "conv3_norm_mbox_loc_flat" bottom: "conv4_mbox_loc_flat" top: "mbox_loc"
        concat_param { axis: 1 } }
      layer { name: "mbox_conf" type: "Concat" bottom: "conv3_norm_mbox_conf_flat" bottom: "conv4_mbox_conf_flat" top: "mbox_conf"
        concat_param { axis: 1 } }
      layer { name: "mbox_priorbox" type: "Concat" bottom: "conv3_norm_mbox_priorbox" bottom: "conv4_mbox_priorbox" top: "mbox_priorbox"
        concat_param { axis: 2 } }
      layer { name: "mbox_conf_reshape" type: "Reshape" bottom: "mbox_conf" top: "mbox_conf_reshape"
        reshape_param { shape { dim: 0 dim: -1 dim: 3 } } }
      layer { name: "mbox_conf_softmax" type: "Softmax" bottom: "mbox_conf_reshape" top: "mbox_conf_softmax" softmax_param { axis: 2 } }
      layer { name: "mbox_conf_flatten" type: "Flatten" bottom: "mbox_conf_softmax" top: "mbox_conf_flatten" flatten_param { axis: 1 } }
      layer { name: "detection_out" type: "DetectionOutput" bottom: "mbox_loc" bottom: "mbox_conf_flatten" bottom: "mbox_priorbox"
        top: "detection_out"
      """ + DETECTION + """
       }
      """;

  /** A source's loc and conf convs, each Permuted to [N, H, W, C] and Flattened, and its PriorBox. */
  private static String heads(String src, String priorParams) {
    StringBuilder b = new StringBuilder();
    for (String[] h : new String[][] {{"loc", "16"}, {"conf", "12"}}) {
      String n = src + "_mbox_" + h[0];
      b.append("layer { name: \"").append(n).append("\" type: \"Convolution\" bottom: \"").append(src).append("\" top: \"")
          .append(n).append("\"\n  convolution_param { num_output: ").append(h[1]).append(" pad: 1 kernel_size: 3 } }\n")
          .append("layer { name: \"").append(n).append("_perm\" type: \"Permute\" bottom: \"").append(n).append("\" top: \"")
          .append(n).append("_perm\"\n  permute_param { order: 0 order: 2 order: 3 order: 1 } }\n")
          .append("layer { name: \"").append(n).append("_flat\" type: \"Flatten\" bottom: \"").append(n).append("_perm\" top: \"")
          .append(n).append("_flat\"\n  flatten_param { axis: 1 } }\n");
    }
    return b.append("layer { name: \"").append(src).append("_mbox_priorbox\" type: \"PriorBox\" bottom: \"").append(src)
        .append("\" bottom: \"data\" top: \"").append(src).append("_mbox_priorbox\"\n").append(priorParams).append(" }\n").toString();
  }

  /** The convolutions and their [out, in, k, k] filter shapes. */
  public static final List<Object[]> CONVS = List.of(new Object[] {"conv1", new int[] {8, 3, 3, 3}},
      new Object[] {"conv3", new int[] {8, 8, 3, 3}}, new Object[] {"conv4", new int[] {8, 8, 3, 3}},
      new Object[] {"conv3_norm_mbox_loc", new int[] {16, 8, 3, 3}}, new Object[] {"conv3_norm_mbox_conf", new int[] {12, 8, 3, 3}},
      new Object[] {"conv4_mbox_loc", new int[] {16, 8, 3, 3}}, new Object[] {"conv4_mbox_conf", new int[] {12, 8, 3, 3}});

  /** The Normalize layer's learned per-channel scale, as SSD trains it from 20. */
  public static final float[] NORM_SCALE = {20f, 18.5f, 21f, 19.25f, 20.5f, 22f, 17.75f, 20f};

  /** Trained weights: Gaussian filters scaled by 1/sqrt(fan-in), small biases, the Normalize scale. */
  public static NetParameter weights() {
    Random r = new Random(2017);
    NetParameter.Builder net = NetParameter.newBuilder().setName("ssd_tiny");
    for (Object[] c : CONVS) {
      int[] s = (int[]) c[1];
      float std = (float) (1 / Math.sqrt(s[1] * s[2] * s[3]));
      net.addLayer(LayerParameter.newBuilder().setName((String) c[0]).setType("Convolution")
          .addBlobs(blob(r, std, s)).addBlobs(blob(r, 0.1f, s[0])));
    }
    BlobProto.Builder scale = BlobProto.newBuilder().setShape(BlobShape.newBuilder().addDim(NORM_SCALE.length));
    for (float v : NORM_SCALE) scale.addData(v);
    net.addLayer(LayerParameter.newBuilder().setName("conv3_norm").setType("Normalize").addBlobs(scale));
    return net.build();
  }

  /** A blob of Gaussian values times {@code std}, with its shape. */
  public static BlobProto blob(Random r, float std, int... shape) {
    BlobProto.Builder b = BlobProto.newBuilder();
    BlobShape.Builder s = BlobShape.newBuilder();
    int n = 1;
    for (int d : shape) {
      s.addDim(d);
      n *= d;
    }
    for (int i = 0; i < n; i++) b.addData((float) (r.nextGaussian() * std));
    return b.setShape(s).build();
  }

  /** Writes ssd_tiny.prototxt and ssd_tiny.caffemodel into {@code dir}; returns the prototxt. */
  public static Path write(Path dir) throws IOException {
    Path p = dir.resolve("ssd_tiny.prototxt");
    Files.writeString(p, PROTOTXT);
    Files.write(dir.resolve("ssd_tiny.caffemodel"), weights().toByteArray());
    return p;
  }
}
