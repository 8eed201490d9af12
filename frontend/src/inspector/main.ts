// Entry point of the session inspector (inspector.html).
import "../style.css";
import "./inspector.css";
import { InspectorPage } from "./page";

new InspectorPage().start();
