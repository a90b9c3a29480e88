package io.qspark.job.cli;

import io.qspark.job.base.UserError;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * --input-shape NAME=C,H,W (repeatable): the dimensions after the batch of a model input the
 * export left dynamic, as Vitis AI's input_shapes. Parsed here; the model checks them against
 * its inputs ({@link io.qspark.kernels.model.Model#withInputShapes}).
 */
final class InputShapes {
  static final String DESCRIPTION = "Dimensions after the batch of a model input, NAME=C,H,W (repeat for each input):"
      + " fixes dimensions the export left dynamic (detectors exported for any image size); dimensions the model fixes"
      + " must be given as they are. Default: for a model of one image input, the size of the images --data feeds"
      + " (after --resize/--crop); synthetic data and tables need it.";

  private InputShapes() {}

  static Map<String, int[]> parse(List<String> flags) {
    Map<String, int[]> r = new LinkedHashMap<>();
    if (flags == null) return r;
    for (String f : flags) {
      int eq = f.lastIndexOf('=');
      if (eq <= 0 || eq == f.length() - 1) throw new UserError("--input-shape " + f + ": expected NAME=C,H,W");
      String name = f.substring(0, eq);
      String[] parts = f.substring(eq + 1).split(",", -1);
      int[] dims = new int[parts.length];
      for (int i = 0; i < parts.length; i++) {
        try {
          dims[i] = Integer.parseInt(parts[i].trim());
        } catch (NumberFormatException e) {
          throw new UserError("--input-shape " + f + ": '" + parts[i] + "' is not a whole number");
        }
        if (dims[i] <= 0) throw new UserError("--input-shape " + f + ": dimensions must be positive");
      }
      if (r.put(name, dims) != null) throw new UserError("--input-shape: input '" + name + "' given twice");
    }
    return r;
  }
}
