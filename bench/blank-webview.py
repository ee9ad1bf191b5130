# The floor under any WebKitGTK app: one window with one WebKitGTK view showing a near-empty page,
# nothing else (GTK 3 and WebKit2GTK 4.1, the libraries Tauri's Linux webview uses). bench/app.mjs
# measures its processes beside Berth's.
# Needs Debian's python3-gi and gir1.2-webkit2-4.1.
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import Gtk, WebKit2  # noqa: E402

window = Gtk.Window(title="blank-webview")
window.set_default_size(1280, 800)
view = WebKit2.WebView()
window.add(view)
view.load_html("<!doctype html><html><body><p>blank</p></body></html>", "about:blank")
window.connect("destroy", Gtk.main_quit)
window.show_all()
sys.exit(Gtk.main())
