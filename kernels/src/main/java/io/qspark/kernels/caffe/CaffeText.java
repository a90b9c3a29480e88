package io.qspark.kernels.caffe;

import com.google.protobuf.TextFormat;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.graph.GraphException;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Reads a prototxt into qspark's subset of Caffe's schema. Fields the subset does not model
 * (fillers, learning-rate settings, other forks' parameters) are skipped rather than refused,
 * and named, so a caller can say what was ignored.
 */
final class CaffeText {
  /** A parsed net and the fields skipped, as "line:column: message.field". */
  record Parsed(NetParameter net, List<String> ignored) {}

  private CaffeText() {}

  static Parsed parse(String text, String displayName) {
    // protobuf-java reports skipped fields only through its logger, once per parse
    Logger log = Logger.getLogger(TextFormat.class.getName());
    List<String> ignored = new ArrayList<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord r) {
        String m = r.getMessage();
        if (m == null || !m.contains("unknown fields")) return;
        for (String line : m.split("\n")) {
          if (!line.contains("unknown fields")) ignored.add(line.replace('\t', ' ').trim());
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    NetParameter.Builder b = NetParameter.newBuilder();
    synchronized (CaffeText.class) {
      boolean parents = log.getUseParentHandlers();
      log.addHandler(capture);
      log.setUseParentHandlers(false);
      try {
        TextFormat.Parser.newBuilder().setAllowUnknownFields(true).build().merge(text, b);
      } catch (TextFormat.ParseException e) {
        throw new GraphException(displayName + " is not a Caffe prototxt: " + e.getMessage());
      } finally {
        log.removeHandler(capture);
        log.setUseParentHandlers(parents);
      }
    }
    return new Parsed(b.build(), List.copyOf(ignored));
  }
}
