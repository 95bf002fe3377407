"""What packaging/moderator-app.spec leaves out of the bundle (MODERATOR_BUNDLE_TRIM=1, the default).
A module of its own so that tests/test_packaging.py can check the rules without PyInstaller.
packaging/README.md says what each rule saves and why the rest stays."""

from __future__ import annotations

from pathlib import PurePosixPath

# Python bindings of Qt modules the app does not use: nothing uses QML, Quick, WebEngine, 3D,
# Multimedia, networking, SQL or D-Bus, and pyqtgraph tries QtTest but does without it. (QtOpenGL and
# QtOpenGLWidgets stay: pyqtgraph's PlotCurveItem imports them. QtSvg stays: small, and Linux icon
# themes draw the file dialog's icons with it.)
UNUSED_QT_MODULES = ["QtQml", "QtQuick", "QtQuick3D", "QtQuickControls2", "QtQuickWidgets", "QtQuickTest",
                     "QtWebEngineCore", "QtWebEngineWidgets", "QtWebEngineQuick", "QtWebChannel", "QtWebSockets",
                     "Qt3DCore", "Qt3DRender", "Qt3DInput", "Qt3DLogic", "Qt3DAnimation", "Qt3DExtras",
                     "QtMultimedia", "QtMultimediaWidgets", "QtSpatialAudio", "QtNetwork", "QtSql", "QtDBus",
                     "QtTest", "QtPdf", "QtPdfWidgets", "QtCharts",
                     "QtDataVisualization", "QtGraphs", "QtDesigner", "QtUiTools", "QtHelp", "QtPrintSupport",
                     "QtXml", "QtConcurrent", "QtStateMachine", "QtRemoteObjects", "QtSerialPort",
                     "QtPositioning", "QtLocation", "QtBluetooth", "QtNfc", "QtSensors", "QtTextToSpeech",
                     "QtHttpServer", "QtScxml", "QtAxContainer"]
# Qt libraries that then only the plugins dropped below need (libQt6DBus stays: QtGui links it).
UNUSED_QT_LIBS = ("Qt6Network", "Qt6Test", "Qt6EglFSDeviceIntegration", "Qt6EglFsKmsSupport")
UNUSED_QT_PLUGIN_GROUPS = {"egldeviceintegrations", "generic", "networkinformation", "tls", "sqldrivers",
                           "multimedia", "qmltooling", "designer", "position", "geoservices", "sensors",
                           "texttospeech", "webview", "printsupport", "virtualkeyboard"}
KEPT_PLATFORMS = ("qxcb", "qwayland", "qoffscreen", "qwindows", "qcocoa")  # desktop + offscreen (tests)
UNUSED_IMAGE_FORMATS = ("qtiff", "qwebp", "qtga", "qwbmp", "qicns", "qpdf")
# Python packages that only optional code paths import; pyarrow's Flight RPC and cloud file systems
# (pyarrow.fs imports them in try/except) carry 50 MB of libraries.
UNUSED_PYTHON = ["tkinter", "_tkinter", "matplotlib", "IPython", "pytest", "pytestqt", "torch.utils.tensorboard",
                 "tensorboard", "pyarrow.flight", "pyarrow._flight", "pyarrow._s3fs",
                 "pyarrow._gcsfs", "pyarrow._azurefs", "pyarrow._hdfs", "pyarrow.orc", "pyarrow._orc",
                 "pyarrow._dataset_orc", "PyInstaller", "pip"]
# Library names without "lib" and suffix, so that one list serves Linux, macOS and Windows.
UNUSED_LIBS = ("arrow_flight", "arrow_python_flight", "arrow_s3",
               # test programs and libraries of torch's own C++ test suite
               "torchbind_test", "jitbackend_test", "aoti_custom_ops", "backend_with_compiler")
# GPU runtimes: none belongs in a CPU bundle. PyInstaller finds the libcudart.so that torch names in a
# ctypes call on a build machine with CUDA installed (/usr/local/cuda here) and would ship it.
GPU_LIBS = ("cuda", "cublas", "cudnn", "cufft", "curand", "cusolver", "cusparse", "nccl", "nvrtc", "nvJitLink",
            "nvToolsExt", "cupti", "amdhip64", "hiprtc", "MIOpen", "rocm", "hsa-runtime")


def unused(path: str) -> bool:
    """Files of collected packages that the running app never opens."""
    p = PurePosixPath(path.replace("\\", "/"))
    parts, name = p.parts, p.name
    if ".so" in name or name.endswith((".dll", ".dylib")):
        stem = name[3:] if name.startswith("lib") else name  # libQt6Network.so.6 or Qt6Network.dll
        if stem.startswith(GPU_LIBS) or stem.split(".")[0] in UNUSED_LIBS + UNUSED_QT_LIBS:
            return True
    if parts[:2] in (("torch", "test"), ("torch", "include"), ("torch", "share"), ("pyarrow", "include"),
                     ("pyarrow", "src"), ("pyarrow", "tests")):
        return True  # C++ test programs, headers, CMake files: for building extensions, not running
    if parts[:2] == ("torch", "bin") and name != "torch_shm_manager":
        return True  # protoc and C++ test programs; torch_shm_manager serves shared-memory tensors
    if name.endswith((".a", ".lib", ".h", ".hpp", ".cuh", ".pyi", ".cmake")):
        return True
    if parts[:1] == ("PySide6",):
        if "translations" in parts:
            return True  # Qt's own translations: the app installs no QTranslator
        if "plugins" in parts[:-1]:
            group = parts[parts.index("plugins") + 1]
            if group in UNUSED_QT_PLUGIN_GROUPS:
                return True
            if group == "platforms":
                return not any(kept in name for kept in KEPT_PLATFORMS)
            if group == "imageformats":
                return any(f"lib{fmt}." in name or name.startswith(fmt + ".") for fmt in UNUSED_IMAGE_FORMATS)
    return False
