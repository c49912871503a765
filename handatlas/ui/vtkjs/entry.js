// The part of vtk.js the 3D hand uses (handatlas/ui/scene.js), bundled into ../vtk-hand.js:
// WebGL rendering of polygonal meshes with the generic render window and its trackball camera.
// Rebuild: `npm ci && npm run build` in this folder (the versions are pinned in package-lock.json).
// It is published as window.handatlasVtk, not window.vtk: Panel's own bundle reads window.vtk
// expecting the whole of vtk.js.
import '@kitware/vtk.js/Rendering/OpenGL/Camera';
import '@kitware/vtk.js/Rendering/OpenGL/Renderer';
import '@kitware/vtk.js/Rendering/OpenGL/Actor';
import '@kitware/vtk.js/Rendering/OpenGL/PolyDataMapper';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import vtkPolyDataNormals from '@kitware/vtk.js/Filters/Core/PolyDataNormals';
import vtkSphereSource from '@kitware/vtk.js/Filters/Sources/SphereSource';
import vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import vtkMapper from '@kitware/vtk.js/Rendering/Core/Mapper';
import vtkGenericRenderWindow from '@kitware/vtk.js/Rendering/Misc/GenericRenderWindow';

window.handatlasVtk = {
  Common: { Core: { vtkDataArray }, DataModel: { vtkPolyData } },
  Filters: { Core: { vtkPolyDataNormals }, Sources: { vtkSphereSource } },
  Rendering: { Core: { vtkActor, vtkMapper }, Misc: { vtkGenericRenderWindow } },
};
